export {
  chooseTransport,
  fetchTransport,
  undiciTransport,
  type HeaderReader,
  type HttpAnswer,
  type HttpRequest,
  type HttpTransport,
} from './transport.ts';
export {
  describeHttpError,
  exchange,
  HttpExchangeError,
  type ExchangeOptions,
  type TimedAnswer,
} from './exchange.ts';
export { readBounded, readFirstChunks, type BodyLimits } from './body.ts';
export { InPlaceRetry, parseRetryAfter, throttledWaitMs } from './retry.ts';
export { followSameHost, redirectTarget, type RedirectEnd, type RedirectPolicy } from './redirects.ts';
export {
  classifyAnswer,
  isLoginPageUrl,
  startsLikePdf,
  type Answer,
  type AnswerKind,
} from './classify-answer.ts';
export { postOnce, type PostAnswer, type PostOnceOptions } from './post-once.ts';
export { answersAtAll } from './answers-at-all.ts';
