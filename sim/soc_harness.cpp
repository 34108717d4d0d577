// The native harness of the `soc-sim` backend (sim/soc_sim.py): the Verilated self-test SoC
// (hw/soc/top.py) with the host's end of its serial line, behind a small C API for ctypes.
//
// The line is simulated bit by bit, 8N1 at `divisor` clock cycles per bit (soc_open's argument: the
// divisor the SoC's Verilog was made with): bytes the host sends are shifted onto `uart_rx`; `uart_tx`
// is sampled in the middle of each bit and decoded into bytes the host receives.  No Python runs per
// cycle: Python calls soc_send, then soc_recv, which runs the clock until the answer has come.

#include <cstdint>
#include <deque>
#include <memory>

#include "verilated.h"
#include "Vvta_soc.h"

namespace {

struct Soc {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vvta_soc> top;
    int div = 4;              // clock cycles per bit
    uint64_t cycles = 0;
    uint64_t sent = 0, received = 0;
    // host -> SoC
    std::deque<uint8_t> out;
    int tx_bit = -1;          // -1 idle; 0 start bit; 1..8 data; 9 stop
    int tx_timer = 0;
    uint8_t tx_byte = 0;
    // SoC -> host
    std::deque<uint8_t> in;
    int rx_bit = -1;          // -1 waiting for a start bit; 0 start; 1..8 data; 9 stop
    int rx_timer = 0;
    uint8_t rx_byte = 0;
    uint64_t framing_errors = 0;
};

inline void line_out(Soc* s) {
    if (s->tx_bit < 0) {
        if (s->out.empty()) {
            s->top->uart_rx = 1;
            return;
        }
        s->tx_byte = s->out.front();
        s->out.pop_front();
        s->sent++;
        s->tx_bit = 0;
        s->tx_timer = s->div;
    }
    int b = s->tx_bit;
    s->top->uart_rx = b == 0 ? 0 : b == 9 ? 1 : (s->tx_byte >> (b - 1)) & 1;
    if (--s->tx_timer == 0) {
        s->tx_timer = s->div;
        if (++s->tx_bit == 10) s->tx_bit = -1;
    }
}

inline void line_in(Soc* s) {
    int level = s->top->uart_tx;
    if (s->rx_bit < 0) {
        if (!level) {
            s->rx_bit = 0;
            s->rx_timer = s->div / 2;   // to the middle of the start bit
        }
        return;
    }
    if (--s->rx_timer > 0) return;
    s->rx_timer = s->div;
    if (s->rx_bit == 0) {
        if (level) s->rx_bit = -1;   // a glitch
        else s->rx_bit = 1;
        s->rx_byte = 0;
    } else if (s->rx_bit <= 8) {
        s->rx_byte |= level << (s->rx_bit - 1);
        s->rx_bit++;
    } else {
        if (level) {
            s->in.push_back(s->rx_byte);
            s->received++;
        }
        else s->framing_errors++;
        s->rx_bit = -1;
    }
}

inline void tick(Soc* s) {
    line_out(s);
    s->top->clk = 1;
    s->top->eval();
    s->top->clk = 0;
    s->top->eval();
    s->cycles++;
    line_in(s);
}

}  // namespace

extern "C" {

// A new SoC in reset whose UART runs at `divisor` clock cycles per bit (NULL if divisor < 4).
void* soc_open(int divisor) {
    if (divisor < 4) return nullptr;
    Soc* s = new Soc;
    s->div = divisor;
    s->ctx.reset(new VerilatedContext);
    s->top.reset(new Vvta_soc{s->ctx.get()});
    s->top->clk = 0;
    s->top->rst = 1;
    s->top->uart_rx = 1;
    s->top->eval();
    return s;
}

void soc_close(void* h) {
    Soc* s = static_cast<Soc*>(h);
    s->top->final();
    delete s;
}

// Hold reset for `cycles` cycles, then release it.
void soc_reset(void* h, int cycles) {
    Soc* s = static_cast<Soc*>(h);
    s->top->rst = 1;
    for (int i = 0; i < cycles; i++) tick(s);
    s->top->rst = 0;
    tick(s);
}

// Queue `n` bytes to go out on the SoC's rx line (sent as time passes).
void soc_send(void* h, const uint8_t* data, uint32_t n) {
    Soc* s = static_cast<Soc*>(h);
    for (uint32_t i = 0; i < n; i++) s->out.push_back(data[i]);
}

// Run until `n` bytes have come from the SoC (and are copied to `buf`) or `max_cycles` pass; returns
// the number of bytes copied (fewer than `n` only at the bound; they stay consumed).
uint32_t soc_recv(void* h, uint8_t* buf, uint32_t n, uint64_t max_cycles) {
    Soc* s = static_cast<Soc*>(h);
    for (uint64_t c = 0; s->in.size() < n && c < max_cycles; c++) tick(s);
    uint32_t k = 0;
    while (k < n && !s->in.empty()) {
        buf[k++] = s->in.front();
        s->in.pop_front();
    }
    return k;
}

// Let `cycles` cycles pass (the line keeps moving).
void soc_idle(void* h, uint64_t cycles) {
    Soc* s = static_cast<Soc*>(h);
    for (uint64_t c = 0; c < cycles; c++) tick(s);
}

uint64_t soc_cycles(void* h) { return static_cast<Soc*>(h)->cycles; }

uint64_t soc_framing_errors(void* h) { return static_cast<Soc*>(h)->framing_errors; }

// Bytes put on the SoC's rx line / decoded from its tx line so far.
uint64_t soc_bytes_sent(void* h) { return static_cast<Soc*>(h)->sent; }
uint64_t soc_bytes_received(void* h) { return static_cast<Soc*>(h)->received; }

// The SoC's irq output now (for tests; the host learns of it by STATUS, as on a board).
int soc_irq(void* h) { return static_cast<Soc*>(h)->top->irq; }

}  // extern "C"
