/**
 * A step of `npm run build`, after tsc: bundles the compiled worker (dist/worker/main.js and everything it imports,
 * the Azure, Kubernetes and LDAP clients included) into that same file, so a worker start reads and links one file
 * instead of thousands of modules. A worker that dies is replaced by one that starts in a fraction of the CPU
 * (issue 11: module loading was most of a start's 5 CPU-seconds on 2 cores).
 *
 * Stays outside the bundle, loaded from node_modules as before:
 * - @temporalio/*: the core bridge is native, and the worker starts its workflow threads from its own files.
 * Our own modules keep their own import.meta.url (see `ownUrls`), so paths built from it (the workflow bundle,
 * the failure converter loaded by path) still point at their compiled files, which stay in dist/.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
export const WORKER_ENTRY = path.join(dist, 'worker', 'main.js');

/** For our compiled files: import.meta.url becomes the file's own URL, relative to where the bundle is. */
function ownUrls(outDir: string): Plugin {
  return {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(dist + path.sep)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
        const rel = path.relative(outDir, args.path).split(path.sep).join('/');
        return {
          contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
          loader: 'js',
        };
      });
    },
  };
}

/** CommonJS code in an ES module bundle still finds require, __filename and __dirname. */
const BANNER = [
  "import { createRequire as __bundleRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileUrl } from 'node:url';",
  "import { dirname as __bundleDirname } from 'node:path';",
  'const require = __bundleRequire(import.meta.url);',
  'const __filename = __bundleFileUrl(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

export async function bundleWorker(entry = WORKER_ENTRY, outfile = entry): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@temporalio/*'],
    banner: { js: BANNER },
    plugins: [ownUrls(path.dirname(outfile))],
    logLevel: 'warning',
    legalComments: 'none',
    // Less source for V8 to read and keep (it holds every script's text): names stay, for readable stacks.
    minifyWhitespace: true,
    minifySyntax: true,
    // main.js.map maps back to the TypeScript (through tsc's maps); read only with node --enable-source-maps.
    sourcemap: 'linked',
  });
  return (await stat(outfile)).size;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const size = await bundleWorker(WORKER_ENTRY, process.argv[2] ? path.resolve(process.argv[2]) : WORKER_ENTRY);
  console.log(
    `${path.relative(root, process.argv[2] ?? WORKER_ENTRY)}: bundled, ${Math.round(size / 1024)} KiB in ` +
      `${Math.round(performance.now() - t0)} ms`,
  );
}
