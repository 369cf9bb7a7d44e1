import path from 'node:path';

/**
 * The environment for a server started with startServer({ env }) that loads a fault-injection
 * preload (`<name>-preload.js` beside this file) into its processes: NODE_OPTIONS (the test
 * process's own kept) plus `--require` of it, and `variable` naming the control file the
 * preload reads (the test writes its switches there).
 */
export function preloadEnv(preloadName: string, variable: string, controlFile: string): NodeJS.ProcessEnv {
  const preload = path.join(__dirname, `${preloadName}-preload.js`);
  const options = [process.env.NODE_OPTIONS ?? '', `--require ${JSON.stringify(preload)}`].join(' ').trim();
  return { NODE_OPTIONS: options, [variable]: controlFile };
}
