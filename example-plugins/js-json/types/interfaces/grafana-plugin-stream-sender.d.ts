/// <reference path="./grafana-plugin-frames.d.ts" />
/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/stream-sender@0.1.1' {
  /**
   * Sends one JSON packet. Waits while Grafana is slow to read; fails with
   * `closed` once Grafana cancelled the stream, after which the guest
   * must return.
   */
  export function send(data: Uint8Array): void;
  /**
   * Sends `frame` as one packet of Grafana's frame JSON with the `parts`
   * asked for, encoded by the host (the Go SDK's
   * `StreamSender.SendFrame`): what a panel subscribed to the stream
   * plots. Fails with `invalid` when the frame is invalid, as a query's
   * frame would.
   */
  export function sendFrame(frame: FrameData, parts: FrameInclude): void;
  /**
   * Waits `millis` milliseconds, or less: it fails with `closed` as soon
   * as Grafana cancels the stream. Wait with this between packets, so
   * that a cancelled stream ends at once.
   */
  export function wait(millis: number): void;
  export type SendError = import('grafana:plugin/types@0.1.1').SendError;
  export type FrameData = import('grafana:plugin/frames@0.1.1').FrameData;
  export type FrameInclude = import('grafana:plugin/frames@0.1.1').FrameInclude;
}
