// The native harness of the `verilator` backend (sim/native.py): the Verilated SimTop (sim/simtop.py,
// the core and its AXI memory model) behind a small C API for ctypes.  No Python runs per cycle.
//
// * Control registers: AXI4-Lite transactions on the s_axil_* ports, one at a time, clocked here
//   (the same handshakes as sim/axil.py's AxiLiteDriver), each bounded by a number of cycles.
// * Memory: the contents of the memory model's storage module (sim/axi_mem.py STORAGE_VERILOG), made
//   visible by a Verilator control file, read and written directly in zero simulated time.
// * Run-time settings: In ports of the top named at build time by VTA_SETTING_PORTS, a list of
//   X(name) entries; vn_set_port(h, i, value) drives the i-th.
// * The end of a run: a rising edge of irq.
// * Trace (VTA_TRACE_PORT, a top with trace_word and trace_key): only while vn_trace_start's recording
//   is on, the whole of trace_word is kept at every clock edge after which trace_key changed (one
//   branch per cycle when off); vn_trace_copy hands the kept words over (sim.trace: the sample rule).
//
// Build-time defines: VTA_TOP_HEADER (the model's header, Vvta_simtop.h), VTA_TOP_CLASS
// (Vvta_simtop), VTA_SETTING_PORTS (may be empty), VTA_WAVES (a build with Verilator's --trace:
// vn_waves writes a VCD).

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "verilated.h"
#include "verilated_sym_props.h"
#include "verilated_syms.h"
#define VN_STR(x) #x
#define VN_XSTR(x) VN_STR(x)
#include VN_XSTR(VTA_TOP_HEADER)
#ifdef VTA_WAVES
#include "verilated_vcd_c.h"
#endif

#ifndef VTA_SETTING_PORTS
#define VTA_SETTING_PORTS
#endif

namespace {

struct Sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<VTA_TOP_CLASS> top;
    uint64_t cycles = 0;      // clock cycles since open
    uint8_t* mem = nullptr;   // the storage array: words of ent bytes, little-endian
    uint64_t mem_bytes = 0;
    uint32_t ent = 0;
    std::string error;
#ifdef VTA_WAVES
    std::unique_ptr<VerilatedVcdC> vcd;
#endif
    bool tracing = false;
#ifdef VTA_TRACE_PORT
    std::remove_reference_t<decltype(VTA_TOP_CLASS::trace_key)> last_key{};
    std::vector<uint8_t> samples;   // whole trace_word values, sizeof(trace_word) bytes each
#endif
};

#ifdef VTA_TRACE_PORT
constexpr size_t SAMPLE_BYTES = sizeof(VTA_TOP_CLASS::trace_word);

inline void sample(Sim* s) {
    const auto& key = s->top->trace_key;
    if (std::memcmp(&key, &s->last_key, sizeof key) == 0) return;
    std::memcpy(&s->last_key, &key, sizeof key);
    const uint8_t* w = reinterpret_cast<const uint8_t*>(&s->top->trace_word);
    s->samples.insert(s->samples.end(), w, w + SAMPLE_BYTES);
}
#endif

inline void tick(Sim* s) {
#ifdef VTA_WAVES
    if (s->vcd) s->vcd->dump(10 * s->cycles);
#endif
    s->top->clk = 1;
    s->top->eval();
#ifdef VTA_WAVES
    if (s->vcd) s->vcd->dump(10 * s->cycles + 5);
#endif
    s->top->clk = 0;
    s->top->eval();
    s->cycles++;
#ifdef VTA_TRACE_PORT
    if (s->tracing) sample(s);
#endif
}

}  // namespace

extern "C" {

// The last error's message ("" if none).
const char* vn_error(void* h) { return static_cast<Sim*>(h)->error.c_str(); }

// Number of run-time setting ports, and the name of the i-th (for the caller to check its table).
int vn_n_ports() {
    int n = 0;
#define X(name) n++;
    VTA_SETTING_PORTS
#undef X
    return n;
}

const char* vn_port_name(int i) {
    int k = 0;
#define X(name) if (k++ == i) return #name;
    VTA_SETTING_PORTS
#undef X
    return "";
}

// Drive setting port i with value; returns 0, or -1 if there is no such port.
int vn_set_port(void* h, int i, uint64_t value) {
    Sim* s = static_cast<Sim*>(h);
    int k = 0;
#define X(name) if (k++ == i) { s->top->name = value; s->top->eval(); return 0; }
    VTA_SETTING_PORTS
#undef X
    (void)s;
    (void)value;
    return -1;
}

// A new simulation; mem_scope names the scope of the storage module (its array is "mem").  Returns
// null only if it cannot allocate; a missing storage leaves mem_bytes() at 0 and says so in vn_error.
void* vn_open(const char* mem_scope) {
    Sim* s = new Sim;
    s->ctx.reset(new VerilatedContext);
    s->ctx->quiet(true);
    // The storage's initial block looks for a $readmemh plusarg; there is none: the image is copied in.
    const char* argv[] = {"vta-native"};
    s->ctx->commandArgs(1, argv);
#ifdef VTA_WAVES
    s->ctx->traceEverOn(true);
#endif
    s->top.reset(new VTA_TOP_CLASS{s->ctx.get()});
    s->top->clk = 0;
    s->top->rst = 1;
    s->top->bd_we = 0;
    s->top->bd_addr = 0;
    s->top->s_axil_awvalid = 0;
    s->top->s_axil_wvalid = 0;
    s->top->s_axil_bready = 0;
    s->top->s_axil_arvalid = 0;
    s->top->s_axil_rready = 0;
    s->top->eval();   // runs the initial blocks (the storage is zeroed)
    // The scope's full name starts with the model's name ("TOP."): match the given name's end.
    const VerilatedScope* scope = nullptr;
    std::string known, want = std::string(".") + mem_scope;
    if (const VerilatedScopeNameMap* scopes = s->ctx->scopeNameMap()) {
        for (const auto& it : *scopes) {
            std::string name = it.first;
            known += (known.empty() ? "" : ", ") + name;
            if (name == mem_scope || (name.size() >= want.size() &&
                                      name.compare(name.size() - want.size(), want.size(), want) == 0))
                scope = it.second;
        }
    }
    VerilatedVar* var = scope ? scope->varFind("mem") : nullptr;
    if (!var) {
        s->error = std::string("no storage array 'mem' in scope ") + mem_scope + " (scopes: " +
                   (known.empty() ? "none" : known) + ")";
    } else {
        s->mem = static_cast<uint8_t*>(var->datap());
        s->ent = var->entSize();
        s->mem_bytes = var->totalSize();
    }
    return s;
}

// Write a VCD of every signal to `path` from now on; 0, or -1 if the library was built without
// waveforms (VTA_WAVES, Verilator's --trace).
int vn_waves(void* h, const char* path) {
    Sim* s = static_cast<Sim*>(h);
#ifdef VTA_WAVES
    s->vcd.reset(new VerilatedVcdC);
    s->top->trace(s->vcd.get(), 99);
    s->vcd->open(path);
    return 0;
#else
    (void)s;
    (void)path;
    return -1;
#endif
}

// Bytes of one trace sample (0: the top has no trace port).
uint32_t vn_trace_sample_bytes() {
#ifdef VTA_TRACE_PORT
    return SAMPLE_BYTES;
#else
    return 0;
#endif
}

// Start recording trace samples (the current value first); 0, or -1 without a trace port.
int vn_trace_start(void* h) {
    Sim* s = static_cast<Sim*>(h);
#ifdef VTA_TRACE_PORT
    s->tracing = true;
    s->samples.clear();
    std::memcpy(&s->last_key, &s->top->trace_key, sizeof s->last_key);
    const uint8_t* w = reinterpret_cast<const uint8_t*>(&s->top->trace_word);
    s->samples.insert(s->samples.end(), w, w + SAMPLE_BYTES);
    return 0;
#else
    (void)s;
    return -1;
#endif
}

// Bytes recorded so far, and a copy of them into buf (at most n bytes); recording goes on.
uint64_t vn_trace_bytes(void* h) {
#ifdef VTA_TRACE_PORT
    return static_cast<Sim*>(h)->samples.size();
#else
    (void)h;
    return 0;
#endif
}

uint64_t vn_trace_copy(void* h, uint8_t* buf, uint64_t n) {
#ifdef VTA_TRACE_PORT
    Sim* s = static_cast<Sim*>(h);
    uint64_t k = s->samples.size() < n ? s->samples.size() : n;
    std::memcpy(buf, s->samples.data(), k);
    return k;
#else
    (void)h;
    (void)buf;
    (void)n;
    return 0;
#endif
}

void vn_close(void* h) {
    Sim* s = static_cast<Sim*>(h);
#ifdef VTA_WAVES
    if (s->vcd) {
        s->vcd->dump(10 * s->cycles);
        s->vcd->close();
    }
#endif
    s->top->final();
    delete s;
}

uint64_t vn_mem_bytes(void* h) { return static_cast<Sim*>(h)->mem_bytes; }

uint32_t vn_word_bytes(void* h) { return static_cast<Sim*>(h)->ent; }

uint64_t vn_cycles(void* h) { return static_cast<Sim*>(h)->cycles; }

// Zero-time memory access; returns 0, or -1 if [addr, addr + n) is outside the memory.
int vn_mem_write(void* h, uint64_t addr, const uint8_t* data, uint64_t n) {
    Sim* s = static_cast<Sim*>(h);
    if (addr > s->mem_bytes || n > s->mem_bytes - addr) return -1;
    std::memcpy(s->mem + addr, data, n);
    return 0;
}

int vn_mem_read(void* h, uint64_t addr, uint8_t* buf, uint64_t n) {
    Sim* s = static_cast<Sim*>(h);
    if (addr > s->mem_bytes || n > s->mem_bytes - addr) return -1;
    std::memcpy(buf, s->mem + addr, n);
    return 0;
}

// Hold reset for `cycles` cycles, then release it and let `after` cycles pass.
void vn_reset(void* h, int cycles, int after) {
    Sim* s = static_cast<Sim*>(h);
    s->top->rst = 1;
    for (int i = 0; i < cycles; i++) tick(s);
    s->top->rst = 0;
    for (int i = 0; i < after; i++) tick(s);
}

// An AXI4-Lite write of `value` to byte offset `addr`; 0, or -1 if it was not answered within
// `bound` cycles.
int vn_write32(void* h, uint32_t addr, uint32_t value, uint64_t bound) {
    Sim* s = static_cast<Sim*>(h);
    auto* t = s->top.get();
    t->s_axil_awaddr = addr;
    t->s_axil_awvalid = 1;
    t->s_axil_wdata = value;
    t->s_axil_wstrb = 0xF;
    t->s_axil_wvalid = 1;
    t->s_axil_bready = 1;
    t->eval();
    bool aw = false, w = false;
    uint64_t c = 0;
    while (!(aw && w)) {
        if (c++ >= bound) return -1;
        bool aw_ok = t->s_axil_awready, w_ok = t->s_axil_wready;
        tick(s);
        if (aw_ok && !aw) { aw = true; t->s_axil_awvalid = 0; }
        if (w_ok && !w) { w = true; t->s_axil_wvalid = 0; }
        t->eval();
    }
    while (!t->s_axil_bvalid) {
        if (c++ >= bound) return -1;
        tick(s);
    }
    tick(s);
    t->s_axil_bready = 0;
    t->eval();
    return 0;
}

// An AXI4-Lite read of byte offset `addr` into *value; 0, or -1 if not answered within `bound` cycles.
int vn_read32(void* h, uint32_t addr, uint32_t* value, uint64_t bound) {
    Sim* s = static_cast<Sim*>(h);
    auto* t = s->top.get();
    t->s_axil_araddr = addr;
    t->s_axil_arvalid = 1;
    t->s_axil_rready = 1;
    t->eval();
    uint64_t c = 0;
    for (;;) {
        if (c++ >= bound) return -1;
        bool ready = t->s_axil_arready;
        tick(s);
        if (ready) break;
    }
    t->s_axil_arvalid = 0;
    t->eval();
    while (!t->s_axil_rvalid) {
        if (c++ >= bound) return -1;
        tick(s);
    }
    *value = t->s_axil_rdata;
    tick(s);
    t->s_axil_rready = 0;
    t->eval();
    return 0;
}

// Run until irq rises or `cycles` cycles pass; 1 if it rose (one more cycle then passes, as the other
// backends' waits do), else 0.
int vn_wait(void* h, uint64_t cycles) {
    Sim* s = static_cast<Sim*>(h);
    auto* t = s->top.get();
    uint8_t prev = t->irq;
    for (uint64_t c = 0; c < cycles; c++) {
        tick(s);
        uint8_t now = t->irq;
        if (now && !prev) {
            tick(s);
            return 1;
        }
        prev = now;
    }
    return 0;
}

}  // extern "C"
