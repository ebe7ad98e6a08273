// The norms analysis' error: a run folder, adapter, trajectory or profile that is not what it must be.
import { LisaError } from '../util/errors.js';

export class NormsError extends LisaError {
  override name = 'NormsError';
}
