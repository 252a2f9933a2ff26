"""GraphError normalisation from every kind of answer, and scrub()."""
from ansible_collections.entra.membership.plugins.module_utils._errors import MASK, GraphError, scrub

GRAPH_404 = {"error": {"code": "Request_ResourceNotFound",
                       "message": "Resource 'abc' does not exist or one of its queried reference-property objects are not present.",
                       "innerError": {"date": "2024-01-01T00:00:00", "request-id": "rid-1", "client-request-id": "crid-1"}}}


def test_a_graph_error_body_gives_status_code_message_and_its_own_request_id():
    error = GraphError.from_response(404, GRAPH_404, {"request-id": "header-rid"})
    assert error.to_dict() == {"status": 404, "code": "Request_ResourceNotFound",
                               "message": GRAPH_404["error"]["message"], "request_id": "rid-1"}
    assert "Request_ResourceNotFound" in str(error) and "rid-1" in str(error)


def test_a_graph_error_body_in_bytes_takes_the_request_id_from_the_headers():
    body = b'{"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}'
    error = GraphError.from_response(403, body, {"Request-Id": "rid-2"})
    assert (error.status, error.code, error.request_id) == (403, "Authorization_RequestDenied", "rid-2")


def test_a_batch_items_error_is_read_like_a_response():
    item = {"id": "3", "status": 429, "headers": {"Retry-After": "2"},
            "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}}
    error = GraphError.from_response(item["status"], item["body"], item["headers"])
    assert (error.status, error.code, error.message, error.request_id) == (429, "TooManyRequests", "Too many requests", None)


def test_an_oauth_error_gives_its_code_and_description():
    error = GraphError.from_response(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."})
    assert (error.code, error.message) == ("invalid_client", "AADSTS7000215: Invalid client secret.")


def test_html_proxy_page_becomes_a_short_message():
    page = "<html><head><title>502 Bad Gateway</title><style>" + "x" * 5000 + "</style></head><body>" + "y" * 5000 + "</body></html>"
    error = GraphError.from_response(502, page)
    assert error.code == "BadGateway" and error.status == 502
    assert "502 Bad Gateway" in error.message and "proxy" in error.message
    assert len(error.message) < 300 and "xxxx" not in error.message


def test_plain_text_and_empty_bodies_become_short_messages_named_by_the_status():
    text = GraphError.from_response(500, "upstream connect error or disconnect/reset before headers\n" * 50)
    assert text.code == "InternalServerError" and "non-JSON" in text.message and len(text.message) < 300
    empty = GraphError.from_response(503, None)
    assert (empty.code, empty.message) == ("ServiceUnavailable", "HTTP 503 Service Unavailable with an empty body")
    odd = GraphError.from_response(599, b"")
    assert odd.code == "HttpError599"


def test_unexpected_json_and_long_messages_are_bounded():
    assert GraphError.from_response(500, {"weird": True}).message == "HTTP 500 with an unexpected JSON body"
    long = GraphError.from_response(400, {"error": {"code": "X", "message": "m" * 2000}})
    assert len(long.message) <= 300 and long.message.endswith("...")


class ConnectionError(Exception):  # pylint: disable=redefined-builtin
    """Stands for requests.exceptions.ConnectionError: GraphError looks at class names only."""


class SSLError(ConnectionError):
    pass


class Timeout(Exception):
    pass


def test_transport_failures_have_no_status_and_name_the_host_and_what_to_check():
    refused = GraphError.from_exception(ConnectionError(
        "HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /v1.0/users (Caused by NewConnectionError("
        "'<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))"),
        "https://127.0.0.1:1/v1.0/users?$select=id")
    assert refused.to_dict() == {"status": None, "code": "ConnectionError", "request_id": None,
                                 "message": "connection to 127.0.0.1:1 failed: [Errno 111] Connection refused"}
    tls = GraphError.from_exception(SSLError(
        "HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, "
        "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))"),
        "https://127.0.0.1:8443/v1.0/$batch")
    assert tls.code == "SSLError" and "127.0.0.1:8443" in tls.message and "ca_path" in tls.message
    assert "unable to get local issuer certificate" in tls.message
    timed_out = GraphError.from_exception(type("ReadTimeout", (Timeout,), {})("read timed out"), "https://h/x", timeout=7)
    assert (timed_out.code, timed_out.message) == ("Timeout", "no answer from h within 7 seconds (the timeout option)")


def test_scrub_masks_secrets_their_encodings_and_anything_token_shaped():
    secret = "s3cr+t/v@lue=="
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl"
    text = "secret=%s form=s3cr%%2Bt%%2Fv%%40lue%%3D%%3D plus=s3cr%%2Bt%%2Fv%%40lue%%3D%%3D tok=%s Authorization: Bearer gsim.abcdefghijkl" % (
        secret, jwt_like)
    cleaned = scrub(text, [secret, None, ""])
    assert secret not in cleaned and "s3cr%2Bt" not in cleaned and jwt_like not in cleaned and "gsim.abcdefghijkl" not in cleaned
    assert cleaned.count(MASK) == 5
    assert scrub(None, ["x"]) is None


def test_scrub_replaces_the_longest_secret_first():
    assert scrub("xx abcd yy", ["ab", "abcd"]) == "xx %s yy" % MASK
