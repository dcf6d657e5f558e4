package attrib

import "testing"

func TestDefaultRules(t *testing.T) {
	rs := DefaultRules()
	tests := []struct{ name, layer string }{
		{"__sys_sendto", LayerSocket},
		{"sock_sendmsg", LayerSocket},
		{"udp_sendmsg", LayerUDP},
		{"udp_send_skb.isra.0", LayerUDP},
		{"ip_make_skb", LayerIP},
		{"__ip_append_data", LayerIP},
		{"ip_route_output_key_hash_rcu", LayerIP},
		{"__ip_select_ident", LayerIP},
		{"__dev_queue_xmit", LayerDevice},
		{"dummy_xmit", LayerDevice},
		{"neigh_resolve_output", LayerDevice},
		{"kmem_cache_alloc_node", LayerMemory},
		{"__alloc_skb", LayerMemory},
		{"skb_put", LayerMemory},
		{"sock_alloc_send_pskb", LayerSocket},
		{"sn_udp_sendmsg", LayerUDP},
		{"sn___ip_append_data", LayerIP},
		{"shim_dev_queue_xmit", LayerDevice},
		{"shim_alloc_skb", LayerMemory},
		{"shim_lock_sock", LayerSocket},
		{"specnet_r_0123456789abcdef_send", LayerResidual},
		{"entry_INT80_32", LayerOther},
		{"schedule", LayerOther},
	}
	for _, tt := range tests {
		if got := rs.Layer(tt.name); got != tt.layer {
			r := rs.Match(tt.name)
			t.Errorf("%s: layer %s (rule %+v), want %s", tt.name, got, r, tt.layer)
		}
	}
}

func TestParseRulesRejects(t *testing.T) {
	for _, text := range []string{"foo socket\n", "foo nolayer because\n", "(foo socket because\n"} {
		if _, err := ParseRules([]byte(text)); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func TestRulesCharge(t *testing.T) {
	rs := DefaultRules()
	for name, layer := range map[string]string{
		"__kmem_cache_alloc_node":     LayerMemory,
		"__copy_user_ll":              LayerMemory,
		"blake2s_compress":            LayerIP,
		"extract_entropy.constprop.0": LayerIP,
		"restore_all_switch_stack":    LayerOther,
	} {
		if got := rs.Layer(name); got != layer {
			t.Errorf("%s: %s, want %s", name, got, layer)
		}
	}
}
