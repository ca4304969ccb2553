import {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  METADATA_ENCODING_KEY,
  UndefinedPayloadConverter,
  type Payload,
  type PayloadConverterWithEncoding,
} from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';

/**
 * JSON that carries bigint (money is bigint fen, SPEC §1) through workflow arguments, updates,
 * queries and activity results, as `{"$bigint": "123"}`. The encoding stays `json/plain`, so the
 * Temporal UI and CLI still show the payloads as JSON. This file is bundled into the workflow
 * sandbox: it must stay deterministic and free of Node built-ins.
 */
const BIGINT_TAG = '$bigint';

class BigIntJsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = 'json/plain';

  toPayload(value: unknown): Payload | undefined {
    if (value === undefined) return undefined;
    const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { [BIGINT_TAG]: v.toString() } : v));
    return { metadata: { [METADATA_ENCODING_KEY]: encode(this.encodingType) }, data: encode(json) };
  }

  fromPayload<T>(payload: Payload): T {
    if (!payload.data) throw new TypeError('json/plain payload without data');
    return JSON.parse(decode(payload.data), (_key, v: unknown) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const tagged = (v as Record<string, unknown>)[BIGINT_TAG];
        if (typeof tagged === 'string' && Object.keys(v).length === 1) return BigInt(tagged);
      }
      return v;
    }) as T;
  }
}

export const payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new BinaryPayloadConverter(),
  new BigIntJsonPayloadConverter(),
);
