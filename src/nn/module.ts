// Module: parameters and submodules named by the fields that hold them (HF-style dotted names), freeze, counts.
import { Parameter } from '../tensor/tensor.js';
import type { Backend, DType } from '../backends/backend.js';
import { ArgumentError } from '../util/errors.js';

/** How a layer initialises a parameter it owns: GPT-2/Llama weights normal(0, std), norm weights 1, biases 0. */
export type ParamInit = 'normal' | 'ones' | 'zeros';

/** How parameters are created: real zeroed storage on a backend, or shape-only (on the meta backend). */
export interface ParamFactory {
  backend?: Backend;
  dtype?: DType;
  /** When true, parameters live on the meta backend (backend is ignored): names, shapes and logical sizes, no
   *  data (for counts and memory estimates). */
  shapeOnly?: boolean;
}

/**
 * A layer or model. Its parameters and submodules are its own fields, named by their keys, as tinygrad's
 * get_state_dict walks `__dict__`; nothing is registered under a string.
 *  - A field holding a Parameter is a parameter named by the key; a field holding a Module is a child named by it.
 *  - null and undefined are skipped: a tied or absent slot (lm_head when tied, the bias of a bias-free Linear).
 *  - Anything else is not walked: arrays (a model's `blocks`, an alias of its ModuleList's items), configs,
 *    numbers, Rngs.
 *  - A reference that is not ownership (a LoRA adapter's base layer) lives in a `#private` field: JS private fields
 *    are not properties, so the walk never sees them (Module's own bookkeeping is a # field for the same reason).
 *  - A module whose children are not plain fields overrides namedChildren(): ModuleList names its items 0, 1, 2...;
 *    Linear mounts its adapter's submodules as its own (q_proj.lora_A, q_proj.lora_B, PEFT's names).
 * Order: ES2022 class fields are defined in declaration order, so that is the order the walk sees (optimizer state,
 * checkpoints and exports depend on it). A module's own parameters come before its children's, as in torch's
 * named_parameters.
 */
export abstract class Module {
  /** How each parameter this module created initialises (a # field, so the field walk never sees it). */
  readonly #inits = new Map<Parameter, ParamInit>();

  /** Creates a parameter this layer owns (zero-filled, or shape-only when the factory says so) and records how it
   *  initialises. Its name is '' until assignNames() gives it the dotted name of the field that holds it. */
  protected param(f: ParamFactory, shape: number[], init: ParamInit = 'normal'): Parameter {
    const p = f.shapeOnly
      ? Parameter.shapeOnly('', shape, { dtype: f.dtype })
      : Parameter.zeros('', shape, { backend: f.backend, dtype: f.dtype });
    this.#inits.set(p, init);
    return p;
  }

  /** How each parameter initialises, as the layer that created it declared. */
  parameterInits(): Map<Parameter, ParamInit> {
    const out = new Map<Parameter, ParamInit>();
    for (const [, m] of this.namedModules()) for (const [p, init] of m.#inits) if (!out.has(p)) out.set(p, init);
    return out;
  }

  /** This module's own parameters by field name, in field order (not its children's). */
  namedOwnParameters(): [string, Parameter][] {
    return Object.entries(this).filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** Direct submodules by local name: the fields holding a Module, in field order. */
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** Every submodule (this one included, as '') with its dotted path, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.namedChildren()) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter with its dotted name (prefix.child.name), depth first, each parameter once (ties). */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, pre: string) => {
      for (const [n, p] of m.namedOwnParameters()) {
        if (!seen.has(p)) {
          seen.add(p);
          out.push([pre + n, p]);
        }
      }
      for (const [n, c] of m.namedChildren()) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  /** Sets each parameter's name to its full dotted name (call once after building a model, and after attaching
   *  or removing adapters). */
  assignNames(): this {
    for (const [n, p] of this.namedParameters()) p.name = n;
    return this;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  getParameter(name: string): Parameter {
    const found = this.namedParameters().find(([n]) => n === name);
    if (!found) throw new ArgumentError(`no parameter named '${name}'`);
    return found[1];
  }

  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  numParameters(trainableOnly = false): number {
    return this.parameters().reduce((n, p) => n + (trainableOnly && !p.requiresGrad ? 0 : p.size), 0);
  }

  /** Frees every parameter and gradient. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.zeroGrad();
      p.dispose();
    }
  }
}

/** An indexed list of modules, named 0, 1, 2... as in torch's nn.ModuleList. */
export class ModuleList<M extends Module> extends Module {
  constructor(readonly items: readonly M[]) {
    super();
  }

  /** The items, named by index (the `items` array itself is not walked). */
  override namedChildren(): [string, Module][] {
    return this.items.map((m, i) => [String(i), m]);
  }
}
