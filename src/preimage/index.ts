// Public surface of the preimage module.

export * from './layouts.ts';
export * from './preimage.ts';
export * from './preimage-error.ts';
export * from './chain-id.ts';
