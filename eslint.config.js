// ESLint flat config: typescript-eslint, the layer order of design.md section 3 as import boundaries, no import
// cycles, 500 lines per source file, no `any` in src/. scripts/check-structure.mjs covers native/ and src/'s folders.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { LAYERS, MAX_LINES } from './scripts/layers.mjs';

/** One zone per layer: it may not import from any layer above it. */
const layerZones = LAYERS.slice(0, -1).map((layer, i) => ({
  target: `./src/${layer}`,
  from: LAYERS.slice(i + 1).map((up) => `./src/${up}`),
  message: `layer order (design.md section 3): src/${layer} may import only from ${LAYERS.slice(0, i).map((l) => `src/${l}`).join(', ') || 'no other layer'}`,
}));

/** Code outside src/finetune drives methods through the FineTuneMethod contract, never by their class. */
const METHOD_CONTRACT = [{
  selector: "BinaryExpression[operator='instanceof'][right.name=/^(Lisa|LoraFineTune|FullFineTune)$/]",
  message: 'use the FineTuneMethod contract (src/finetune/method.ts) instead of instanceof on a method class outside src/finetune',
}];

/** Module.param() returns what it registers, so a Parameter never needs a cast. */
const NO_PARAMETER_CASTS = [{
  selector: "TSAsExpression > TSTypeReference.typeAnnotation[typeName.name='Parameter']",
  message: 'no `as Parameter` casts: Module.param() and the parameter lists are typed',
}];

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'build-*/**', 'node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'prefer-const': ['error', { destructuring: 'all' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    // No eslint-disable comments in src/: the rules hold there without exceptions.
    linterOptions: { noInlineConfig: true },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'max-lines': ['error', { max: MAX_LINES, skipBlankLines: false, skipComments: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', ...METHOD_CONTRACT, ...NO_PARAMETER_CASTS],
    },
  },
  {
    // The methods themselves may tell each other apart (the memory estimate reads LoRA's adapters).
    files: ['src/finetune/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...NO_PARAMETER_CASTS] },
  },
);
