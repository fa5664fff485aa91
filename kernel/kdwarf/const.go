package kdwarf

// DWARF constants used by this reader, spelt as in the DWARF 5 standard
// (DWARF Debugging Information Format Version 5, section 7) so that they can
// be grepped for there. Only what the reader needs is listed.

// Tags (section 7.5.3, table 7.3).
const (
	tagArrayType           = 0x01 // DW_TAG_array_type
	tagClassType           = 0x02 // DW_TAG_class_type
	tagEnumerationType     = 0x04 // DW_TAG_enumeration_type
	tagFormalParameter     = 0x05 // DW_TAG_formal_parameter
	tagMember              = 0x0d // DW_TAG_member
	tagPointerType         = 0x0f // DW_TAG_pointer_type
	tagReferenceType       = 0x10 // DW_TAG_reference_type
	tagCompileUnit         = 0x11 // DW_TAG_compile_unit
	tagStructureType       = 0x13 // DW_TAG_structure_type
	tagSubroutineType      = 0x15 // DW_TAG_subroutine_type
	tagTypedef             = 0x16 // DW_TAG_typedef
	tagUnionType           = 0x17 // DW_TAG_union_type
	tagUnspecifiedParams   = 0x18 // DW_TAG_unspecified_parameters
	tagInheritance         = 0x1c // DW_TAG_inheritance
	tagPtrToMemberType     = 0x1f // DW_TAG_ptr_to_member_type
	tagSubrangeType        = 0x21 // DW_TAG_subrange_type
	tagBaseType            = 0x24 // DW_TAG_base_type
	tagConstType           = 0x26 // DW_TAG_const_type
	tagPackedType          = 0x2d // DW_TAG_packed_type
	tagEnumerator          = 0x28 // DW_TAG_enumerator
	tagSubprogram          = 0x2e // DW_TAG_subprogram
	tagVariable            = 0x34 // DW_TAG_variable
	tagVolatileType        = 0x35 // DW_TAG_volatile_type
	tagRestrictType        = 0x37 // DW_TAG_restrict_type
	tagPartialUnit         = 0x3c // DW_TAG_partial_unit
	tagUnspecifiedType     = 0x3b // DW_TAG_unspecified_type
	tagSharedType          = 0x40 // DW_TAG_shared_type
	tagTypeUnit            = 0x41 // DW_TAG_type_unit
	tagRvalueReferenceType = 0x42 // DW_TAG_rvalue_reference_type
	tagAtomicType          = 0x47 // DW_TAG_atomic_type (DWARF 5)
	tagSkeletonUnit        = 0x4a // DW_TAG_skeleton_unit (DWARF 5)
	tagImmutableType       = 0x4b // DW_TAG_immutable_type (DWARF 5)
)

// Attributes (section 7.5.4, table 7.5).
const (
	atSibling        = 0x01 // DW_AT_sibling
	atLocation       = 0x02 // DW_AT_location
	atName           = 0x03 // DW_AT_name
	atByteSize       = 0x0b // DW_AT_byte_size
	atBitOffset      = 0x0c // DW_AT_bit_offset (DWARF 2/3)
	atBitSize        = 0x0d // DW_AT_bit_size
	atConstValue     = 0x1c // DW_AT_const_value
	atUpperBound     = 0x2f // DW_AT_upper_bound
	atPrototyped     = 0x27 // DW_AT_prototyped
	atCount          = 0x37 // DW_AT_count
	atDataMemberLoc  = 0x38 // DW_AT_data_member_location
	atDeclaration    = 0x3c // DW_AT_declaration
	atExternal       = 0x3f // DW_AT_external
	atEncoding       = 0x3e // DW_AT_encoding
	atSpecification  = 0x47 // DW_AT_specification
	atType           = 0x49 // DW_AT_type
	atDataBitOffset  = 0x6b // DW_AT_data_bit_offset (DWARF 4)
	atSignature      = 0x69 // DW_AT_signature (DWARF 4)
	atStrOffsetsBase = 0x72 // DW_AT_str_offsets_base (DWARF 5)
	atAbstractOrigin = 0x31 // DW_AT_abstract_origin
	atLowerBound     = 0x22 // DW_AT_lower_bound
	atGNUVector      = 0x2107
)

// Forms (section 7.5.6, table 7.6).
const (
	formAddr          = 0x01   // DW_FORM_addr
	formBlock2        = 0x03   // DW_FORM_block2
	formBlock4        = 0x04   // DW_FORM_block4
	formData2         = 0x05   // DW_FORM_data2
	formData4         = 0x06   // DW_FORM_data4
	formData8         = 0x07   // DW_FORM_data8
	formString        = 0x08   // DW_FORM_string
	formBlock         = 0x09   // DW_FORM_block
	formBlock1        = 0x0a   // DW_FORM_block1
	formData1         = 0x0b   // DW_FORM_data1
	formFlag          = 0x0c   // DW_FORM_flag
	formSdata         = 0x0d   // DW_FORM_sdata
	formStrp          = 0x0e   // DW_FORM_strp
	formUdata         = 0x0f   // DW_FORM_udata
	formRefAddr       = 0x10   // DW_FORM_ref_addr
	formRef1          = 0x11   // DW_FORM_ref1
	formRef2          = 0x12   // DW_FORM_ref2
	formRef4          = 0x13   // DW_FORM_ref4
	formRef8          = 0x14   // DW_FORM_ref8
	formRefUdata      = 0x15   // DW_FORM_ref_udata
	formIndirect      = 0x16   // DW_FORM_indirect
	formSecOffset     = 0x17   // DW_FORM_sec_offset (DWARF 4)
	formExprloc       = 0x18   // DW_FORM_exprloc (DWARF 4)
	formFlagPresent   = 0x19   // DW_FORM_flag_present (DWARF 4)
	formStrx          = 0x1a   // DW_FORM_strx (DWARF 5)
	formAddrx         = 0x1b   // DW_FORM_addrx (DWARF 5)
	formRefSup4       = 0x1c   // DW_FORM_ref_sup4 (DWARF 5)
	formStrpSup       = 0x1d   // DW_FORM_strp_sup (DWARF 5)
	formData16        = 0x1e   // DW_FORM_data16 (DWARF 5)
	formLineStrp      = 0x1f   // DW_FORM_line_strp (DWARF 5)
	formRefSig8       = 0x20   // DW_FORM_ref_sig8 (DWARF 4)
	formImplicitConst = 0x21   // DW_FORM_implicit_const (DWARF 5)
	formLoclistx      = 0x22   // DW_FORM_loclistx (DWARF 5)
	formRnglistx      = 0x23   // DW_FORM_rnglistx (DWARF 5)
	formRefSup8       = 0x24   // DW_FORM_ref_sup8 (DWARF 5)
	formStrx1         = 0x25   // DW_FORM_strx1 (DWARF 5)
	formStrx2         = 0x26   // DW_FORM_strx2 (DWARF 5)
	formStrx3         = 0x27   // DW_FORM_strx3 (DWARF 5)
	formStrx4         = 0x28   // DW_FORM_strx4 (DWARF 5)
	formAddrx1        = 0x29   // DW_FORM_addrx1 (DWARF 5)
	formAddrx2        = 0x2a   // DW_FORM_addrx2 (DWARF 5)
	formAddrx3        = 0x2b   // DW_FORM_addrx3 (DWARF 5)
	formAddrx4        = 0x2c   // DW_FORM_addrx4 (DWARF 5)
	formGNUAddrIndex  = 0x1f01 // DW_FORM_GNU_addr_index (pre-standard split DWARF)
	formGNUStrIndex   = 0x1f02 // DW_FORM_GNU_str_index
	formGNURefAlt     = 0x1f20 // DW_FORM_GNU_ref_alt (dwz)
	formGNUStrpAlt    = 0x1f21 // DW_FORM_GNU_strp_alt (dwz)
)

// Base type encodings (section 7.8, table 7.11).
const (
	ateAddress      = 0x01 // DW_ATE_address
	ateBoolean      = 0x02 // DW_ATE_boolean
	ateComplexFloat = 0x03 // DW_ATE_complex_float
	ateFloat        = 0x04 // DW_ATE_float
	ateSigned       = 0x05 // DW_ATE_signed
	ateSignedChar   = 0x06 // DW_ATE_signed_char
	ateUnsigned     = 0x07 // DW_ATE_unsigned
	ateUnsignedChar = 0x08 // DW_ATE_unsigned_char
	ateSignedFixed  = 0x0d // DW_ATE_signed_fixed
	ateDecimalFloat = 0x0f // DW_ATE_decimal_float
	ateUTF          = 0x10 // DW_ATE_UTF (DWARF 4)
)

// Unit header types (section 7.5.1, table 7.2).
const (
	utCompile      = 0x01 // DW_UT_compile
	utType         = 0x02 // DW_UT_type
	utPartial      = 0x03 // DW_UT_partial
	utSkeleton     = 0x04 // DW_UT_skeleton
	utSplitCompile = 0x05 // DW_UT_split_compile
	utSplitType    = 0x06 // DW_UT_split_type
)

// Location expression operations used by DWARF 2/3 member locations
// (section 7.7.1, table 7.9).
const (
	opConstu     = 0x10 // DW_OP_constu
	opPlusUconst = 0x23 // DW_OP_plus_uconst
)
