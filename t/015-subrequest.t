# A layout location used as a subrequest: an SSI include of an assembled
# page (the include waits for the page's Redis lookups, and the page is
# not the last buffer of the response).

use t::WapressTest;

plan tests => repeat_each() * (blocks() * 5);

redis('SET', 't015:a', '<b>fragment</b>');

run_tests();

__DATA__

=== TEST 1: an SSI include of a page assembled from Redis
--- layout_only: the filter does not rewrite subrequests (SSI includes)
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
>>> index.html
before <!--# include virtual="/page" --> after
--- config
    location = /ssi {
        ssi on;
        alias html/index.html;
        default_type text/html;
    }

    location = /page {
        wapress_layout ../html/layout.html;
        wapress_fragment a t015:a;
    }
--- request
GET /ssi
--- response_body
before [<b>fragment</b>]
 after



=== TEST 2: two includes of the same page in one response
--- layout_only: the filter does not rewrite subrequests (SSI includes)
--- user_files
>>> layout.html
[<!--# wapress fragment="a" -->]
>>> index.html
<!--# include virtual="/page" --><!--# include virtual="/page" -->.
--- config
    location = /ssi {
        ssi on;
        alias html/index.html;
        default_type text/html;
    }

    location = /page {
        wapress_layout ../html/layout.html;
        wapress_fragment a t015:a;
    }
--- request
GET /ssi
--- response_body
[<b>fragment</b>]
[<b>fragment</b>]
.
