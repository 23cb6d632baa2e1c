// RecordBatch v2: the unit Kastor stores, replicates and serves. One import point for the layout, the
// validator, the record reader and the builder, which live in their own files.

export * from './record-batch-layout.ts';
export * from './record-batch-errors.ts';
export * from './record-batch-reader.ts';
export * from './record-batch-validate.ts';
export * from './record-batch-builder.ts';
