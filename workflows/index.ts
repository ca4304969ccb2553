export { taskOrderWorkflow } from './task-order';
