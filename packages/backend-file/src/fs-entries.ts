import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { isMissing } from './fs-errors.js';

// Reads and removals where a missing entry is an ordinary answer, not an error: other writers create and
// remove files concurrently, and a crash may leave any of them absent. Each is one metadata call or the read of
// a small file, made synchronously: a trip through the thread pool would cost more than the call.

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

export function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

export function unlinkIfExists(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
