export { taskOrderWorkflow } from './task-order';
export { boostOrderWorkflow } from './boost-order';
export { checkoutWorkflow } from './checkout';
