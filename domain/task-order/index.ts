export * from './types';
export * from './ids';
export * from './policy';
export * from './decide';
export * from './evolve';
export * from './deadlines';
export * from './ledger';
export * from './notifications';
