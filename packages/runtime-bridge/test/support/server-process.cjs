// Entry of a spawned runtime server: loads the TypeScript sources (as jest does) and starts server-main.ts.
'use strict';
require('./ts-loader.cjs');
require('./server-main.ts');
