import path from 'node:path';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

// The web app: built from this folder into dist/web/, which the HTTP gateway serves at `/`.
// Everything is bundled (no CDN at run time); asset URLs are relative so the app works under
// any path the gateway mounts it at.
export default defineConfig({
  root: here,
  base: './',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: path.resolve(here, '../../../dist/web'),
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
});
