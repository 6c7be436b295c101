package dev.nola.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** nola serve's arguments: a bad one is one line naming it, its value and what was expected (ServeMain exits 2 on it). */
class ServeMainTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--model m|--model and --adapters are required (e.g. --model gpt2-fortunes --adapters DIR)",
        "--model m --adapters a --port abc|--port is 'abc'; expected an integer",
        "--model m --adapters a --max-batch 99999999999|--max-batch is '99999999999'; expected an integer below 2^31",
        "--model m --adapters a --cache-bytes lots|--cache-bytes is 'lots'; expected an integer",
        "--model m --adapters a --verbose yes|unknown option '--verbose'; expected --model, --adapters, --device, --host, --port, --max-batch, --max-queue, --max-body or --cache-bytes",
        "--model m --adapters|--adapters needs a value"})
    void aBadArgumentIsOneLineNamingIt(String args, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServeMain.run(args.split(" ")));
        assertEquals(message, e.getMessage());
    }
}
