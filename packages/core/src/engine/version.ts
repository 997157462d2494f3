/** Stamped on every checkpoint as `libraryVersion`; kept equal to package.json's version (a test checks). */
export const LIBRARY_VERSION = '0.1.0';
