// Typed errors a user can cause. Each message names the op, file, key or tensor and says what was expected.

export class LisaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** Shapes that do not fit an op (rank, size, broadcasting). */
export class ShapeError extends LisaError {}
/** A dtype the op or backend does not support, or two inputs of different dtypes. */
export class DTypeError extends LisaError {}
/** An index (token id, target, dimension, slice bound) out of range. */
export class IndexError extends LisaError {}
/** Any other bad argument: wrong type, non-integer size, unknown option. */
export class ArgumentError extends LisaError {}
/** A bad config: a training config key or a model's config.json field (the message names the file and key). */
export class ConfigError extends ArgumentError {}
/** A tensor used after it was disposed (freed by a scope or by hand). */
export class DisposedError extends LisaError {}
/** A backend that is not available on this machine. */
export class BackendError extends LisaError {}
