/** Where the worker, the client and the replayer find the payload converter (one place). */
export const dataConverter = { payloadConverterPath: require.resolve('./payload-converter') };
