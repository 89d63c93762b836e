/** Types of traffic.js (plain JavaScript, shared with the k6 scripts). */
export declare const SITES: string[]
export declare function random(seed: number): () => number
export interface IngestRequest {
  body: string
  headers: Record<string, string>
  expected: number
  kind: string
}
export interface ReportRequest {
  body: string
  expected: number
  kind: string
}
export declare function createIngestTraffic(
  seed?: number,
  visitors?: number,
): { next(): IngestRequest }
export declare function createReportTraffic(seed?: number): { next(): ReportRequest }
