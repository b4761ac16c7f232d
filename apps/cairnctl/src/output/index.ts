import { FieldsPrinter } from './fields.js';
import { JsonPrinter } from './jsonPrinter.js';
import type { Printer, PrinterOptions } from './printer.js';
import { SimplePrinter, TablePrinter } from './simple.js';

export const outputFormats = ['simple', 'json', 'table', 'fields', 'protobuf'] as const;

/** The printer for a `--write-out` value, or an error message for one we cannot print. */
export function printerFor(format: string, options: PrinterOptions): Printer | { error: string } {
  switch (format) {
    case 'simple':
      return new SimplePrinter(options);
    case 'json':
      return new JsonPrinter();
    case 'table':
      return new TablePrinter(options);
    case 'fields':
      return new FieldsPrinter(options);
    case 'protobuf':
      return { error: 'protobuf output is not supported by cairnctl (the wire format is MessagePack); use json' };
    default:
      return { error: `unsupported output format ${JSON.stringify(format)} (use simple, json, table or fields)` };
  }
}

export type { Printer, PrinterOptions, EndpointHashKv, EndpointHealth, EndpointStatus } from './printer.js';
