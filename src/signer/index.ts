// Public surface of the signer module.

export * from './validator-signer.ts';
export * from './sign-error.ts';
export * from './check-request.ts';
export * from './local-key-signer.ts';
export * from './remote-protocol.ts';
export * from './loopback-transport.ts';
export * from './transport-signer.ts';
export * from './failure-mode.ts';
