// Arrays of plain numbers, as the JSON text `JSON.stringify(value, null, 2)` lays them out.
const NUMBER_ARRAY = /\[\n\s+(-?[\d.eE+-]+(?:,\n\s+-?[\d.eE+-]+)*)\n\s+\]/g;

/**
 * JSON indented for reading, except that arrays of plain numbers stay on one line: the per-step agent figures
 * would otherwise take one line per number and swamp every diff of results/latest.json.
 */
export function readableJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  return text.replace(NUMBER_ARRAY, (_, numbers: string) => `[${numbers.replace(/,\n\s+/g, ', ')}]`) + '\n';
}
