import { hmacValidator } from '@adyen/api-library';
import type { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models.js';

/**
 * Adyen standard notifications for tests, shaped as Adyen's webhook reference describes NotificationRequestItem
 * (only the fields the channel reads, plus a few it must ignore), each item signed with the library's own
 * `hmacValidator.calculateHmac`, so the route verifies exactly what Adyen would send.
 */

/** A 32-byte HMAC key in hex, as the Customer Area issues one. */
export const ADYEN_TEST_HMAC_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
export const ADYEN_TEST_USER = 'ws_webhook_test';
export const ADYEN_TEST_PASSWORD = 'a-basic-auth-password-0123456789';
export const ADYEN_TEST_ENV = {
  VIGIL_ADYEN_HMAC_KEY: ADYEN_TEST_HMAC_KEY,
  VIGIL_ADYEN_WEBHOOK_USERNAME: ADYEN_TEST_USER,
  VIGIL_ADYEN_WEBHOOK_PASSWORD: ADYEN_TEST_PASSWORD,
};

export interface AdyenItemSpec {
  readonly eventCode: string;
  readonly pspReference: string;
  readonly originalReference?: string;
  /** Minor units, as Adyen sends them. */
  readonly value: number;
  readonly currency: string;
  readonly success?: boolean;
  /** ISO 8601 with offset. */
  readonly eventDate: string;
  readonly merchantReference?: string;
  readonly reason?: string;
  readonly additionalData?: Record<string, string>;
}

/** A NotificationRequestItem, unsigned. */
export function adyenItem(spec: AdyenItemSpec): Record<string, unknown> {
  return {
    additionalData: { shopperReference: 'shopper-1', ...spec.additionalData },
    amount: { currency: spec.currency, value: spec.value },
    eventCode: spec.eventCode,
    eventDate: spec.eventDate,
    merchantAccountCode: 'VigilTestMerchant',
    merchantReference: spec.merchantReference ?? 'order-1',
    ...(spec.originalReference === undefined ? {} : { originalReference: spec.originalReference }),
    paymentMethod: 'visa',
    pspReference: spec.pspReference,
    reason: spec.reason ?? '',
    success: String(spec.success ?? true),
  };
}

/** `item` with `additionalData.hmacSignature` as Adyen computes it under `key`. */
export function signedAdyenItem(item: Record<string, unknown>, key = ADYEN_TEST_HMAC_KEY): Record<string, unknown> {
  const signature = new hmacValidator().calculateHmac(item as unknown as NotificationRequestItem, key);
  return {
    ...item,
    additionalData: { ...(item['additionalData'] as Record<string, string>), hmacSignature: signature },
  };
}

/** The notification body wrapping `items` (each already signed, or deliberately not). */
export function adyenNotification(items: ReadonlyArray<Record<string, unknown>>): string {
  return JSON.stringify({
    live: 'false',
    notificationItems: items.map((NotificationRequestItem) => ({ NotificationRequestItem })),
  });
}

/** The `Authorization` header of Adyen's basic auth. */
export function adyenBasicAuth(user = ADYEN_TEST_USER, password = ADYEN_TEST_PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
