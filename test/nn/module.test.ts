// Module naming from fields: parameters and children by key in declaration order, null slots, arrays and # fields
// not walked, ModuleList indices, a Linear's adapter mounted as its own children, inits without names.
import { describe, it, expect } from 'vitest';
import type { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { Module, ModuleList, type ParamFactory } from '../../src/nn/module.js';
import { Linear, LayerNorm, type LinearAdapter } from '../../src/nn/layers.js';

const f: ParamFactory = { shapeOnly: true };

class Leaf extends Module {
  readonly scale: Parameter;
  readonly shift: Parameter | null;
  constructor(shift: boolean) {
    super();
    this.scale = this.param(f, [2], 'ones');
    this.shift = shift ? this.param(f, [2], 'zeros') : null;
  }
}

class Tree extends Module {
  // children declared before the parameter: own parameters still come first (as torch's named_parameters)
  readonly first: Leaf;
  readonly list: ModuleList<Leaf>;
  readonly absent: Leaf | null = null;
  readonly later: Leaf | undefined = undefined;
  readonly gain: Parameter;
  readonly alias: readonly Leaf[];
  readonly config = { width: 2 };
  readonly #hidden: Leaf;
  constructor() {
    super();
    this.first = new Leaf(true);
    this.list = new ModuleList([new Leaf(false), new Leaf(true)]);
    this.gain = this.param(f, [3]);
    this.alias = this.list.items;
    this.#hidden = new Leaf(true);
  }
  hidden(): Leaf { return this.#hidden; }
}

class Adapter extends Module implements LinearAdapter {
  readonly down: Linear;
  readonly up: Linear;
  readonly #base: Linear;
  constructor(base: Linear) {
    super();
    this.#base = base;
    this.down = new Linear(f, base.inFeatures, 1);
    this.up = new Linear(f, 1, base.outFeatures);
  }
  apply(_x: Tensor, y: Tensor): Tensor { return y; }
  base(): Linear { return this.#base; }
}

describe('Module names from fields', () => {
  it('walks Parameter and Module fields by key, own parameters first; skips null, undefined, arrays, configs, # fields', () => {
    const t = new Tree().assignNames();
    const names = ['gain', 'first.scale', 'first.shift', 'list.0.scale', 'list.1.scale', 'list.1.shift'];
    expect(t.namedParameters().map(([n]) => n)).toEqual(names);
    expect(t.parameters().map((p) => p.name)).toEqual(names);
    expect(t.namedChildren().map(([n]) => n)).toEqual(['first', 'list']);
    expect(t.namedModules().map(([n]) => n)).toEqual(['', 'first', 'list', 'list.0', 'list.1']);
    expect(t.namedOwnParameters().map(([n]) => n)).toEqual(['gain']);
    expect(t.hidden().scale.name).toBe(''); // never walked, so never named
    expect(t.namedParameters('m.').map(([n]) => n)[1]).toBe('m.first.scale');
  });

  it('records each parameter\'s init where the layer creates it', () => {
    const t = new Tree();
    const inits = t.parameterInits();
    expect(t.namedParameters().map(([n, p]) => [n, inits.get(p)])).toEqual([
      ['gain', 'normal'], ['first.scale', 'ones'], ['first.shift', 'zeros'], ['list.0.scale', 'ones'],
      ['list.1.scale', 'ones'], ['list.1.shift', 'zeros'],
    ]);
    const ln = new LayerNorm(f, 4);
    expect([...ln.parameterInits().values()]).toEqual(['ones', 'zeros']);
  });

  it('a Linear mounts its adapter\'s children as its own; the adapter\'s base reference is not walked', () => {
    const lin = new Linear(f, 4, 3, { bias: true });
    const a = new Adapter(lin);
    lin.setAdapter(a);
    lin.assignNames();
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias', 'down.weight', 'up.weight']);
    expect(a.base()).toBe(lin);
    expect(a.namedParameters().map(([n]) => n)).toEqual(['down.weight', 'up.weight']);
    lin.setAdapter(null);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(new Linear(f, 4, 3).namedParameters().map(([n]) => n)).toEqual(['weight']);
  });
});
