#define BOOST_TEST_MODULE duplex_codec
#include <boost/test/unit_test.hpp>
