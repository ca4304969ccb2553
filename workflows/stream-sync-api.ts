import { defineSignal } from '@temporalio/workflow';

/**
 * L3 (issue 21): "look in your stream": sent to a task or boost order's workflow when the API could
 * not learn an Update's outcome (Temporal away, the Update not processed). The Update's write may
 * have been stored by a workflow task that was then lost; the workflow takes such steps
 * (order-runtime's syncStored). A workflow with nothing ahead in its stream does nothing.
 */
export const syncStreamSignal = defineSignal('syncStream');
