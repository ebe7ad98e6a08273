// Backend registry: picks cpu-native when the addon built (unless LISA_BACKEND says otherwise), else cpu-js;
// meta (shape-only) is chosen explicitly, never as the default.
import { BACKEND_NAMES, type Backend, type BackendName } from './backend.js';
import { cpuJs } from './cpu-js/index.js';
import { loadNativeBackend, nativeUnavailableReason } from './cpu-native.js';
import { meta } from './meta.js';
import { BackendError } from '../util/errors.js';

export type { BackendName } from './backend.js';
export type { Backend } from './backend.js';
export { meta } from './meta.js';

export function getBackend(name: BackendName): Backend {
  if (name === 'cpu-js') return cpuJs;
  if (name === 'meta') return meta;
  if (name === 'cpu-native') {
    const native = loadNativeBackend();
    if (!native) throw new BackendError(`cpu-native backend unavailable: ${nativeUnavailableReason()}`);
    return native;
  }
  throw new BackendError(`unknown backend '${String(name)}' (expected ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')})`);
}

export function nativeAvailable(): boolean {
  return loadNativeBackend() !== null;
}

let current: Backend | null = null;

/** The backend new tensors use: LISA_BACKEND if set, else cpu-native when available, else cpu-js. */
export function defaultBackend(): Backend {
  if (!current) {
    const env = process.env.LISA_BACKEND as BackendName | undefined;
    current = env ? getBackend(env) : (loadNativeBackend() ?? cpuJs);
  }
  return current;
}

/** Makes `b` (a wrapped backend, e.g. a profile's) the one new tensors use. */
export function useBackend(b: Backend): Backend {
  current = b;
  return b;
}

export function setDefaultBackend(name: BackendName): Backend {
  current = getBackend(name);
  return current;
}
