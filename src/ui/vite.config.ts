import path from 'node:path';
import { defineConfig } from 'vite';

/**
 * The dashboard bundle: src/ui → dist/ui, served by the API process under /app (src/api/routes/ui.ts). Preact's JSX
 * through esbuild; no plugin. Everything comes from npm at build time: the page loads nothing from another origin.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: path.resolve(import.meta.dirname, '../../dist/ui'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
});
