export * from './types';
export * from './ids';
export * from './price';
export * from './decide';
export * from './evolve';
export * from './ledger';
export * from './notifications';
