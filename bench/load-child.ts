// Child process of bench/load.ts: loads one model folder and prints time, bytes and peak RSS as JSON.
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/models/index.js';

const dir = process.argv[2];
const bytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const { model } = loadModel(dir);
const seconds = (performance.now() - t0) / 1000;
const weightBytes = model.numParameters() * 4;
process.stdout.write(JSON.stringify({ seconds, fileBytes: bytes, weightBytes, rssBefore, maxRss: process.resourceUsage().maxRSS * 1024 }));
