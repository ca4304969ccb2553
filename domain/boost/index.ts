// The pure core of boost orders (SPEC §3): no I/O, no clock (time is always passed in).
export * from './policy';
export * from './calendar-date';
export * from './pricing';
export * from './compensation';
export * from './business-days';
export * from './calendar-data';
export * from './validity';
export * from './types';
export * from './ids';
export * from './decide';
export * from './evolve';
export * from './deadlines';
export * from './ledger';
export * from './notifications';
