import { defineConfig } from 'vite';

// JSX is compiled by Vite's own transformer (Oxc) with Preact's automatic runtime: no plugin.
// The dev server's dependency scan needs the same JSX settings.
// `npm run dev` proxies /api to a running pixhive (PIXHIVE_API, default http://127.0.0.1:8080).
const jsx = { runtime: 'automatic', importSource: 'preact' };

export default defineConfig({
  oxc: { jsx },
  optimizeDeps: { rolldownOptions: { transform: { jsx } } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': { target: process.env.PIXHIVE_API || 'http://127.0.0.1:8080' },
    },
  },
});
