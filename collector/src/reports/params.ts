/**
 * Query parameters: every value a request carries enters SQL as a `{pN:Type}`
 * placeholder, never as text. The builder asks for a placeholder and gets its name.
 */
export type ParamType =
  | 'String'
  | 'Array(String)'
  | 'Int64'
  | 'UInt32'
  | 'UInt64'
  | 'Array(UInt64)'
  | 'Date'
  | 'Array(Date)'

export class Params {
  readonly values: Record<string, unknown> = {}
  private next = 0

  /** A placeholder for a value, e.g. `{p3:String}`. */
  add(value: unknown, type: ParamType): string {
    const name = `p${this.next++}`
    this.values[name] = value
    return `{${name}:${type}}`
  }

  text = (value: string) => this.add(value, 'String')
  texts = (values: readonly string[]) => this.add(values, 'Array(String)')
}
