/** L2: the chart of accounts. Account ids are strings `kind:…` so finance can read them as they are. */
export const PLATFORM_ACCOUNTS = {
  serviceFees: 'platform:service_fees',
  forfeitedDeposits: 'platform:forfeited_deposits',
  boostPremiums: 'platform:boost_premiums',
  externalPayments: 'external:payments',
} as const;

export const clientAccount = (clientId: string): string => `client:${clientId}`;
export const creatorAccount = (creatorId: string): string => `creator:${creatorId}`;
export const taskEscrowAccount = (orderId: string): string => `escrow:task:${orderId}`;
export const boostEscrowAccount = (boostOrderId: string): string => `escrow:boost:${boostOrderId}`;
export const checkoutEscrowAccount = (checkoutId: string): string => `escrow:checkout:${checkoutId}`;

/** L5, C4: the account a payment is taken from: the client's, the external payments', or a paid checkout's escrow. */
export function fundingAccount(funding: { readonly source: 'account' } | { readonly source: 'external' } | { readonly source: 'checkout'; readonly checkoutId: string }, clientId: string): string {
  switch (funding.source) {
    case 'account':
      return clientAccount(clientId);
    case 'external':
      return PLATFORM_ACCOUNTS.externalPayments;
    case 'checkout':
      return checkoutEscrowAccount(funding.checkoutId);
    default: {
      const _exhaustive: never = funding;
      return _exhaustive;
    }
  }
}

const ACCOUNT_PATTERN = /^(client|creator|escrow:task|escrow:boost|escrow:checkout):[A-Za-z0-9_.\-:]{1,128}$|^(platform:(service_fees|forfeited_deposits|boost_premiums)|external:payments)$/;

export function isAccountId(value: string): boolean {
  return ACCOUNT_PATTERN.test(value);
}
