// The CLI's last line on failure: typed errors as they are; out-of-memory RangeErrors say what to change;
// other internal errors name the command and say it is a bug, never a bare RangeError/TypeError.
import { describe, it, expect } from 'vitest';
import { errorMessage } from '../../src/cli/error-message.js';
import { ConfigError } from '../../src/train/config.js';

const argv = ['train', 'run.yaml', '--set', 'train.batchSize=5000'];

describe('CLI error messages', () => {
  it('passes typed errors through with their class name', () => {
    expect(errorMessage(new ConfigError("run.yaml: 'optim.lr' = -1: too small"), argv)).toBe("lisa: ConfigError: run.yaml: 'optim.lr' = -1: too small");
  });

  it('turns a failed allocation into an out-of-memory message naming the command and the options', () => {
    let thrown: unknown;
    try {
      new Float32Array(10485760000);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    const msg = errorMessage(thrown, argv);
    expect(msg).toMatch(/^lisa: out of memory: `lisa train run.yaml --set train.batchSize=5000` needed a buffer larger/);
    expect(msg).toContain('train.gradientCheckpointing: true');
    expect(msg).not.toMatch(/^lisa: RangeError/);
  });

  it('wraps any other internal error as a bug report, naming the command', () => {
    const msg = errorMessage(new TypeError("Cannot read properties of undefined (reading 'shape')"), argv);
    expect(msg).toBe("lisa: internal error in `lisa train run.yaml --set train.batchSize=5000`: TypeError: Cannot read properties of undefined (reading 'shape'). " +
      'This is a bug in lisa-tune, not in your input; please report it with the output of the same command run with LISA_DEBUG=1');
  });
});
