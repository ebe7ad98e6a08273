// Module: a tree of named parameters and submodules with HF-style dotted names, freeze/unfreeze, counts.
import { Parameter } from '../tensor/tensor.js';
import type { Backend, DType } from '../backends/backend.js';
import { ArgumentError } from '../util/errors.js';

/** How a layer initialises a parameter it owns: GPT-2/Llama weights normal(0, std), norm weights 1, biases 0. */
export type ParamInit = 'normal' | 'ones' | 'zeros';

export abstract class Module {
  private readonly params = new Map<string, Parameter | null>();
  private readonly inits = new Map<Parameter, ParamInit>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter under a local name (the last part of its dotted name), with how it initialises.
   *  null marks a tied slot. */
  protected param<P extends Parameter | null>(localName: string, p: P, init: ParamInit = 'normal'): P {
    this.params.set(localName, p);
    if (p) this.inits.set(p, init);
    return p;
  }

  /** How each parameter initialises, as the layer that registered it declared. */
  parameterInits(): Map<Parameter, ParamInit> {
    const out = new Map<Parameter, ParamInit>();
    for (const [, m] of this.namedModules()) for (const [p, init] of m.inits) if (!out.has(p)) out.set(p, init);
    return out;
  }

  protected module<M extends Module>(localName: string, m: M): M {
    this.children.set(localName, m);
    return m;
  }

  protected removeModule(localName: string): void {
    this.children.delete(localName);
  }

  /** Direct submodules by local name. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every submodule (this one included, as '') with its dotted path, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter with its dotted name (prefix.child.name), depth first, each parameter once (ties). */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, pre: string) => {
      for (const [n, p] of m.params) {
        if (p && !seen.has(p)) {
          seen.add(p);
          out.push([pre + n, p]);
        }
      }
      for (const [n, c] of m.children) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  /** Sets each parameter's name to its full dotted name (call once after building a model). */
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

/** How parameters are created: real zeroed storage on a backend, or shape-only (on the meta backend). */
export interface ParamFactory {
  backend?: Backend;
  dtype?: DType;
  /** When true, parameters live on the meta backend (backend is ignored): names, shapes and logical sizes, no
   *  data (for counts and memory estimates). */
  shapeOnly?: boolean;
}

/** An indexed list of modules, named 0, 1, 2... as in torch's nn.ModuleList. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.module(String(i), m));
  }
}
