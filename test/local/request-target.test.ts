import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../functions/local/request-target.ts';

describe('the request target serve hands to the router', () => {
  it('splits path and query, decoded', () => {
    expect(parseTarget('/v1/savings?from=2027-03-01T00%3A00%3A00Z&target=orders-sync')).toEqual({
      path: '/v1/savings',
      query: { from: '2027-03-01T00:00:00Z', target: 'orders-sync' },
    });
    expect(parseTarget('http://127.0.0.1:8787/v1/plan?hours=2')).toEqual({
      path: '/v1/plan',
      query: { hours: '2' },
    });
    expect(parseTarget('ftp://x/v1/plan')).toBeUndefined();
  });

  // API Gateway joins the values of a repeated parameter with commas; serve kept only the last,
  // so `?target=a&target=b` answered for b alone here and for both on AWS.
  it('joins the values of a repeated parameter with commas, as API Gateway does', () => {
    expect(parseTarget('/v1/savings?target=orders-sync&target=billing-sync&nonce=1')).toEqual({
      path: '/v1/savings',
      query: { target: 'orders-sync,billing-sync', nonce: '1' },
    });
  });
});
