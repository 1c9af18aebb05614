import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// onnxruntime-node's WebGPU EP needs a Vulkan driver. Where none is named, Chromium's own
// SwiftShader (a CPU Vulkan) serves, so the WebGPU EP tests run wherever the browser tests do.
// Set here, before the test processes start: the loader reads LD_LIBRARY_PATH only at start.
const SWIFTSHADER_DIRS = ['/usr/lib/chromium', '/usr/lib/chromium-browser'];
if (!process.env.VK_DRIVER_FILES && !process.env.VK_ICD_FILENAMES) {
  const dir = SWIFTSHADER_DIRS.find((d) => existsSync(`${d}/vk_swiftshader_icd.json`) && existsSync(`${d}/libvulkan.so.1`));
  if (dir) {
    process.env.VK_DRIVER_FILES = `${dir}/vk_swiftshader_icd.json`;
    process.env.LD_LIBRARY_PATH = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT sessions are heavy; forks keep native state isolated per file.
    pool: 'forks',
    // Every skipped test is listed with its reason at the end (and fails a strict CI run).
    reporters: ['default', './tests/support/skip-reporter.ts'],
  },
});
