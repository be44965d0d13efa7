/**
 * QuickBooks' error bodies: `{"Fault":{"Error":[{Message, Detail, code, element?}],"type":…},"time":…}` in JSON, or
 * `<IntuitResponse><Fault type=…><Error code=…><Message/><Detail/></Error></Fault></IntuitResponse>` in XML (what
 * QuickBooks sends when the client did not ask for JSON, and what its gateway sometimes sends on a throttle anyway).
 */
export interface QboFault {
  status: number;
  type: string;
  code: string;
  message: string;
  detail: string;
}

export const FAULTS = {
  throttle: (): QboFault => ({ status: 429, type: 'SERVICE', code: '3001', message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429', detail: 'The request limit was reached.' }),
  authentication: (detail: string): QboFault => ({ status: 401, type: 'AUTHENTICATION', code: '3200', message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401', detail }),
  authorization: (detail: string): QboFault => ({ status: 403, type: 'AUTHORIZATION', code: '3201', message: 'message=AuthorizationFailed; errorCode=003201; statusCode=403', detail }),
  application: (detail: string): QboFault => ({ status: 403, type: 'SERVICE', code: '3100', message: 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403', detail }),
  parser: (detail: string): QboFault => ({ status: 400, type: 'ValidationFault', code: '4000', message: 'Error parsing query', detail }),
  queryValidation: (detail: string): QboFault => ({ status: 400, type: 'ValidationFault', code: '4001', message: 'Invalid query', detail }),
  validation: (message: string, detail: string, code = '2010'): QboFault => ({ status: 400, type: 'ValidationFault', code, message, detail }),
  notFound: (): QboFault => ({ status: 400, type: 'ValidationFault', code: '610', message: 'Object Not Found', detail: "Object Not Found : Something you're trying to use has been made inactive or is not found." }),
  server: (status: number): QboFault => ({ status, type: 'SystemFault', code: '10000', message: 'An application error has occurred while processing your request', detail: 'System Failure Error: injected fault' }),
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function faultBody(f: QboFault, time: string, xml: boolean): { contentType: string; text: string } {
  if (xml) {
    return {
      contentType: 'application/xml;charset=UTF-8',
      text:
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
        `<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="${esc(time)}">` +
        `<Fault type="${esc(f.type)}"><Error code="${esc(f.code)}"><Message>${esc(f.message)}</Message><Detail>${esc(f.detail)}</Detail></Error></Fault>` +
        `</IntuitResponse>`,
    };
  }
  return {
    contentType: 'application/json;charset=UTF-8',
    text: JSON.stringify({ Fault: { Error: [{ Message: f.message, Detail: f.detail, code: f.code, element: '' }], type: f.type }, time }),
  };
}

export class FaultError extends Error {
  constructor(readonly fault: QboFault) {
    super(fault.detail);
  }
}
