/**
 * One conversion of one ONNX model: fp16, 8-bit (q8 / int8 / uint8), 4-bit (q4) or q4f16 (q4,
 * then fp16). The model is edited as a `WorkingModel`; the weights are read and converted only
 * when the result is written, so converting is instant and writing streams.
 */
import { clone } from '@bufbuild/protobuf';
import { NameSource, type WorkingModel } from '../onnx/graph.js';
import { ModelProtoSchema, StringStringEntryProtoSchema, create } from '../onnx/proto.js';
import { convertToFp16 } from './fp16-pass.js';
import { type ConvertOptions, type QuantizePrecision, resolveConvertOptions } from './options.js';
import { type ConversionReport, emptyReport } from './report.js';
import { quantizeWeights } from './weights-pass.js';

export interface Conversion {
  readonly working: WorkingModel;
  readonly report: ConversionReport;
}

/** A copy to edit: the graph is cloned (it is small once its initializers are apart); the tensors are shared. */
export function forkWorking(w: WorkingModel): WorkingModel {
  return { model: clone(ModelProtoSchema, w.model), initializers: new Map(w.initializers), where: w.where };
}

function weightBytes(w: WorkingModel): number {
  let n = 0;
  for (const t of w.initializers.values()) n += t.byteLength;
  return n;
}

/** Convert a copy of `source` to `precision`; `source` itself is left as it was. */
export function convertModel(
  source: WorkingModel,
  precision: QuantizePrecision,
  options: ConvertOptions = {},
): Conversion {
  const opts = resolveConvertOptions(options);
  const w = forkWorking(source);
  const report = emptyReport(precision);
  report.weightBytesBefore = weightBytes(w);
  const names = new NameSource(w);
  switch (precision) {
    case 'fp16':
      convertToFp16(w, opts, names, report);
      break;
    case 'q8':
    case 'int8':
      quantizeWeights(w, 'int8', opts, names, report);
      break;
    case 'uint8':
      quantizeWeights(w, 'uint8', opts, names, report);
      break;
    case 'q4':
      quantizeWeights(w, 'q4', opts, names, report);
      break;
    case 'q4f16':
      quantizeWeights(w, 'q4', opts, names, report);
      convertToFp16(w, opts, names, report);
      break;
  }
  report.weightBytesAfter = weightBytes(w);
  w.model.metadataProps = [
    ...w.model.metadataProps.filter((m) => m.key !== 'mmrt_precision'),
    create(StringStringEntryProtoSchema, { key: 'mmrt_precision', value: precision }),
  ];
  return { working: w, report };
}
