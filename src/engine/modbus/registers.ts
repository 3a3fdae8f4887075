/** Register data types and how they are laid out in 16-bit words. */
export type DataType = "int16" | "uint16" | "int32" | "uint32" | "float32";
/** Which word of a 32-bit value comes first: `big` (high word first, Modbus's usual) or `little`. */
export type WordOrder = "big" | "little";

/** Registers a data type takes. */
export function wordsOf(type: DataType): number {
  return type === "int16" || type === "uint16" ? 1 : 2;
}

/** Reads a value of `type` from `words` at `offset`. */
export function decodeValue(words: ArrayLike<number>, offset: number, type: DataType, order: WordOrder): number {
  if (wordsOf(type) === 1) {
    const w = words[offset]!;
    return type === "int16" ? (w << 16) >> 16 : w;
  }
  const [hi, lo] = order === "big" ? [words[offset]!, words[offset + 1]!] : [words[offset + 1]!, words[offset]!];
  const view = new DataView(new ArrayBuffer(4));
  view.setUint16(0, hi);
  view.setUint16(2, lo);
  if (type === "float32") return view.getFloat32(0);
  return type === "int32" ? view.getInt32(0) : view.getUint32(0);
}

/** Writes a value of `type` as its words; throws RangeError for a value the type cannot hold. */
export function encodeValue(value: number, type: DataType, order: WordOrder): number[] {
  const view = new DataView(new ArrayBuffer(4));
  const int = Math.round(value);
  const ranges: Record<Exclude<DataType, "float32">, [number, number]> = {
    int16: [-0x8000, 0x7fff],
    uint16: [0, 0xffff],
    int32: [-0x80000000, 0x7fffffff],
    uint32: [0, 0xffffffff],
  };
  if (type !== "float32") {
    const [min, max] = ranges[type];
    if (int < min || int > max) throw new RangeError(`${value} does not fit ${type}`);
  }
  switch (type) {
    case "int16":
    case "uint16":
      return [int & 0xffff];
    case "int32":
      view.setInt32(0, int);
      break;
    case "uint32":
      view.setUint32(0, int);
      break;
    case "float32":
      view.setFloat32(0, value);
      break;
  }
  const words = [view.getUint16(0), view.getUint16(2)];
  return order === "big" ? words : words.reverse();
}
