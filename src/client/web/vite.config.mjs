import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../../../dist/web');

/** Text worth compressing; the server's list (src/worker/content-coding.ts COMPRESSIBLE) is the same. */
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|map|txt|webmanifest)$/i;
const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/**
 * Writes `x.br` (brotli, quality 11) and `x.gz` (gzip, level 9) beside each text file of the
 * build, once, so the server sends them precompressed at no cost per request
 * (src/worker/static-route.ts). A sibling no smaller than its file is not written: the server
 * then sends the file as it is.
 */
function precompress() {
  return {
    name: 'switchboard-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const files = Object.keys(bundle).filter((name) => COMPRESSIBLE.test(name));
      await Promise.all(
        files.map(async (name) => {
          const file = path.join(options.dir ?? outDir, name);
          const body = await fs.readFile(file);
          const encoded = [
            ['.br', await brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })],
            ['.gz', await gzip(body, { level: 9 })],
          ];
          for (const [suffix, data] of encoded) if (data.length < body.length) await fs.writeFile(file + suffix, data);
        }),
      );
    },
  };
}

// The web app: built from this folder into dist/web/, which the HTTP gateway serves at `/`.
// Everything is bundled (no CDN at run time); asset URLs are relative so the app works under
// any path the gateway mounts it at.
export default defineConfig({
  root: here,
  base: './',
  plugins: [preact(), precompress()],
  logLevel: 'warn',
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
});
