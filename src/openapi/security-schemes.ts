/** Names of the OpenAPI security schemes, shared by the document and the controllers. */
export const USER_TOKEN_AUTH = 'user-token';
export const METRICS_TOKEN_AUTH = 'metrics-token';
