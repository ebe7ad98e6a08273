// The backends every shared test body runs on: cpu-js always, cpu-native when the addon built.
import type { Backend } from '../src/backends/backend.js';
import { cpuJs } from '../src/backends/cpu-js/index.js';
import { getBackend, nativeAvailable } from '../src/backends/index.js';

export const BACKENDS: [string, Backend][] = [['cpu-js', cpuJs]];
if (nativeAvailable()) BACKENDS.push(['cpu-native', getBackend('cpu-native')]);
else console.warn('NOTICE: cpu-native addon not built; running shared test bodies on cpu-js only');
