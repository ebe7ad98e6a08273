// The error of every data reader: a bad or unreadable data file, naming the file, the record and what was expected.
import { LisaError } from '../util/errors.js';

export class DataError extends LisaError {}
