/** Web mode's defaults, in a module of their own so the CLI's help can name them without loading the server. */
export const DEFAULT_PORT = 5417;
