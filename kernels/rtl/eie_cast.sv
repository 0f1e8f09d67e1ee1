// eie_cast: requantise a signed value with SHIFT more fractional bits than the output type
// (flow.fixed FixedType.cast, right shifts only): round half up (RND = 1) or floor (RND = 0),
// then clamp to the signed OW-bit range (SAT = 1) or keep the low OW bits (SAT = 0, WRAP).
// Combinational; the instantiating module registers the result.
`default_nettype none
module eie_cast #(
    parameter IW = 32,
    parameter SHIFT = 1,
    parameter OW = 16,
    parameter RND = 1,
    parameter SAT = 1
) (
    input  logic [IW-1:0] x,
    output logic [OW-1:0] y
);
  initial begin
    if (SHIFT < 1) $error("eie_cast: SHIFT must be >= 1 (right shifts only)");
    if (IW < OW) $error("eie_cast: IW must be >= OW");
  end
  localparam signed [IW:0] HALF = (RND != 0) ? ((IW + 1)'(1) <<< (SHIFT - 1)) : '0;
  localparam signed [IW:0] HI = (IW + 1)'((64'sd1 <<< (OW - 1)) - 64'sd1);
  localparam signed [IW:0] LO = -HI - (IW + 1)'(1);
  localparam [OW-1:0] HI_O = HI[OW-1:0];
  localparam [OW-1:0] LO_O = LO[OW-1:0];
  logic signed [IW:0] s;
  assign s = ($signed({x[IW-1], x}) + HALF) >>> SHIFT;
  assign y = (SAT != 0 && s > HI) ? HI_O : (SAT != 0 && s < LO) ? LO_O : s[OW-1:0];
endmodule
`default_nettype wire
